"""Command line: ``python -m fer_model train|evaluate|calibrate|interpolate|predict|video|batch``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .explain import CAM_METHODS, DEFAULT_CAM_METHOD
from .faces import DetectionSettings
from .model import DEFAULT_WEIGHTS, WeightsError
from .training.dataset import CSV_USAGES, DatasetError


def _train(args: argparse.Namespace) -> int:
    from .training.augment import AUGMENTATIONS
    from .training.train import TrainConfig, train

    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        peak_lr=args.lr,
        label_smoothing=args.label_smoothing,
        seed=args.seed,
        threads=args.threads,
        limit_train=args.limit_train,
        precision=args.precision,
        device=args.device,
        equalize=args.equalize,
        realign=args.realign,
        augment=AUGMENTATIONS[args.augment],
        balanced=args.prior == "balanced",
        init=args.init,
        swa=args.swa,
        balance_classes=args.balance_classes,
        teacher=args.distill,
        distill_weight=args.distill_weight,
    )
    train(args.data, args.out, config, resume=args.resume)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .training.evaluate import evaluate, format_report

    report = evaluate(args.data, args.weights, usage=args.usage, tta=not args.no_tta)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from .training.evaluate import calibrate

    out = args.out or args.weights
    meta = calibrate(args.weights, args.data, usage=args.usage, out=out, balanced=args.prior == "balanced")
    print(f"vector scaling written to {out}")
    for name, values in (("scale", meta.logit_scale), ("bias", meta.logit_bias)):
        print(f"{name:<6}" + " ".join(f"{value:+.3f}" for value in values))
    return 0


def _interpolate(args: argparse.Namespace) -> int:
    from .training.interpolate import interpolate

    meta = interpolate(args.start, args.end, args.alpha, args.data, args.out, balanced=args.prior == "balanced")
    print(f"{1 - args.alpha:g} x {args.start} + {args.alpha:g} x {args.end}, calibrated, written to {args.out}")
    for name, values in (("scale", meta.logit_scale), ("bias", meta.logit_bias)):
        print(f"{name:<6}" + " ".join(f"{value:+.3f}" for value in values))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from . import ImageError, analyze, annotate_photo, load_classifier, result_to_dict
    from .pipeline import analysis_failure
    from .report import format_table

    classifier = load_classifier(args.weights)
    settings = DetectionSettings(
        threshold=args.threshold, min_face_size=args.min_face_size, min_face_fraction=args.min_face_fraction
    )
    out_names = _annotation_names(args.images) if args.annotate else {}
    if args.annotate:
        Path(args.annotate).mkdir(parents=True, exist_ok=True)
    records = []
    for path in args.images:
        # Each file on its own: whatever one file does, the others still run and the JSON is written.
        try:
            result = analyze(
                path, classifier, settings=settings, tta=not args.no_tta, explain=not args.no_cam, cam_method=args.cam
            )
            record = {"path": path, **result_to_dict(result)}
            if args.annotate:
                record["annotated"] = str(Path(args.annotate) / out_names[path])
                annotate_photo(result, heatmap_opacity=0.0 if args.no_cam else 0.5).save(record["annotated"])
        except ImageError as error:
            record = {"path": path, "error": str(error)}
        except Exception as error:  # a bug, or out of memory: reported for this file alone
            record = {"path": path, "error": analysis_failure(error)}
        if "error" in record:
            print(f"{path}: {record['error']}", file=sys.stderr)
        else:
            print(f"{path}: {result.width}x{result.height}, {len(result.faces)} face(s)\n{format_table(result)}\n")
        records.append(record)
        result = None  # the photo it holds can be hundreds of megabytes
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2) + "\n")
    return 1 if any("error" in record for record in records) else 0


def _annotation_names(paths: list[str]) -> dict[str, str]:
    """{path: "<stem>.png"}, with "-2", "-3" ... added where stems repeat (``a/x.jpg``, ``b/x.jpg``, ``x.png``)."""
    names, taken = {}, set()
    for path in dict.fromkeys(paths):
        stem = Path(path).stem
        name, number = f"{stem}.png", 1
        while name in taken:
            number += 1
            name = f"{stem}-{number}.png"
        names[path] = name
        taken.add(name)
    return names


def get_args_parser() -> argparse.ArgumentParser:
    defaults = _train_defaults()
    parser = argparse.ArgumentParser(prog="python -m fer_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    formatter = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser("train", help="train the emotion CNN on FER2013", formatter_class=formatter)
    train.add_argument("--data", required=True, help="FER2013 zip or folder in the Kaggle layout, or fer2013.csv")
    train.add_argument("--out", required=True, help="folder for checkpoint.pt, metrics.jsonl and the weights")
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.peak_lr, help="peak one-cycle learning rate")
    train.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--threads", type=int, default=defaults.threads, help="torch CPU threads")
    train.add_argument("--limit-train", type=int, default=None, help="train on a random subset of this many images")
    train.add_argument(
        "--precision",
        choices=("auto", "bf16", "fp32"),
        default=defaults.precision,
        help="bf16 autocast or fp32; auto uses bf16 only where the CPU (AVX512-BF16, AMX) or GPU has it",
    )
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default=defaults.device)
    train.add_argument("--init", metavar="WEIGHTS", help="warm start (fine-tune) from this weights file")
    train.add_argument(
        "--swa", action="store_true", help="constant --lr; ship the average of every epoch's weights (after --init)"
    )
    train.add_argument(
        "--balance-classes",
        action="store_true",
        help="weight each emotion's loss by the inverse of its share of the train faces (disgust counts most)",
    )
    train.add_argument(
        "--distill",
        metavar="TEACHER",
        help="also learn the test-time outputs of this weights file on the clean train faces (distillation)",
    )
    train.add_argument(
        "--distill-weight",
        type=float,
        default=defaults.distill_weight,
        help="share of the loss given to matching the --distill teacher",
    )
    train.add_argument("--equalize", action="store_true", help="histogram-equalise every crop, here and at inference")
    train.add_argument(
        "--realign", action="store_true", help="re-frame the train faces from MTCNN landmarks as photos are framed"
    )
    train.add_argument(
        "--augment",
        choices=("fer2013", "real-photo"),
        default="fer2013",
        help="augmentation preset; real-photo adds gamma, shading, blur, noise, JPEG and wider crop scales",
    )
    train.add_argument(
        "--prior",
        choices=("balanced", "split"),
        default="balanced",
        help="calibrate for equal class priors, or for the validation split's class frequencies",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="score weights on a labelled test split", formatter_class=formatter)
    evaluate.add_argument("--data", required=True, help="Kaggle zip/folder (scores test/), emotion folders or CSV")
    evaluate.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="safetensors weights file")
    evaluate.add_argument("--usage", choices=CSV_USAGES[1:], help="CSV rows to score (default: both test halves)")
    evaluate.add_argument("--no-tta", action="store_true", help="skip the flip averaging the app uses")
    evaluate.add_argument("--json", help="also write the metrics as JSON to this file")
    evaluate.set_defaults(run=_evaluate)

    calibrate = commands.add_parser(
        "calibrate", help="fit the calibration of weights on a labelled split", formatter_class=formatter
    )
    calibrate.add_argument("--data", required=True, help="Kaggle zip/folder (fits on test/), emotion folders or CSV")
    calibrate.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="safetensors weights file")
    calibrate.add_argument("--usage", choices=CSV_USAGES[1:], help="CSV rows to fit on (default: both test halves)")
    calibrate.add_argument("--out", help="write the recalibrated weights here (default: overwrite --weights)")
    calibrate.add_argument(
        "--prior",
        choices=("balanced", "split"),
        default="balanced",
        help="probabilities for equal class priors, or for the class frequencies of the split fitted on",
    )
    calibrate.set_defaults(run=_calibrate)

    interpolate = commands.add_parser(
        "interpolate",
        help="mix a network and a fine-tune of it in weight space, then calibrate",
        formatter_class=formatter,
    )
    interpolate.add_argument("start", help="weights file: the network before fine-tuning")
    interpolate.add_argument("end", help="weights file: the fine-tuned network")
    interpolate.add_argument("--alpha", type=float, required=True, help="share of END, in [0, 1]")
    interpolate.add_argument("--data", required=True, help="Kaggle zip/folder: the calibration is fitted on test/")
    interpolate.add_argument("--out", required=True, help="weights file to write")
    interpolate.add_argument("--prior", choices=("balanced", "split"), default="balanced", help="as for calibrate")
    interpolate.set_defaults(run=_interpolate)

    detection = DetectionSettings()
    predict = commands.add_parser(
        "predict", help="find faces in photos and classify their emotions", formatter_class=formatter
    )
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="photo files; unreadable ones are reported")
    predict.add_argument("--json", help="write every image's result (or its error) as JSON to this file")
    predict.add_argument(
        "--annotate",
        metavar="DIR",
        help="write DIR/<image name>.png with boxes, labels, heat maps (-2, -3 ... added to repeated names)",
    )
    predict.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="safetensors weights file")
    predict.add_argument("--no-cam", action="store_true", help="skip the Grad-CAM heat maps")
    predict.add_argument(
        "--cam", choices=list(CAM_METHODS), default=DEFAULT_CAM_METHOD, help="class activation map method"
    )
    predict.add_argument("--no-tta", action="store_true", help="skip the flip averaging")
    predict.add_argument("--threshold", type=float, default=detection.threshold, help="MTCNN face confidence")
    predict.add_argument("--min-face-size", type=int, default=detection.min_face_size, help="in photo pixels")
    predict.add_argument(
        "--min-face-fraction",
        type=float,
        default=detection.min_face_fraction,
        help="smallest face as a fraction of the photo's shorter side (0 for crowds of small faces)",
    )
    predict.set_defaults(run=_predict)

    from .video.cli import add_video_parser  # the video command lives with the video package

    add_video_parser(commands)
    from .batch.cli import add_batch_parser

    add_batch_parser(commands)
    return parser


def _train_defaults():
    from .training.train import TrainConfig

    return TrainConfig()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = get_args_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DatasetError, WeightsError, FileNotFoundError, ValueError) as error:  # bad --data, --weights, --device
        print(f"error: {error}", file=sys.stderr)
        return 2

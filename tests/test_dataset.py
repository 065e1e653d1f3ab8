import zipfile

import numpy as np
import pytest

from fer_model.training.dataset import DatasetError, load_faces
from tests.fer_fixtures import png_bytes, random_faces, write_csv, write_kaggle_zip


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_MODEL_CACHE", str(tmp_path / "cache"))


def test_kaggle_zip_reads_both_splits_pixel_exact(tmp_path):
    written = write_kaggle_zip(tmp_path / "fer.zip")
    for split in ("train", "test"):
        faces = load_faces(tmp_path / "fer.zip", split)
        np.testing.assert_array_equal(faces.images, written[split][0])
        np.testing.assert_array_equal(faces.labels, written[split][1])
        assert faces.images.dtype == np.uint8 and faces.images.shape[1:] == (48, 48)


def test_kaggle_folder_and_emotion_folders_match_the_zip(tmp_path):
    write_kaggle_zip(tmp_path / "fer.zip")
    with zipfile.ZipFile(tmp_path / "fer.zip") as archive:
        archive.extractall(tmp_path / "kaggle")
    from_zip = load_faces(tmp_path / "fer.zip", "test")
    from_folder = load_faces(tmp_path / "kaggle", "test")
    from_emotion_folders = load_faces(tmp_path / "kaggle" / "test")
    for faces in (from_folder, from_emotion_folders):
        np.testing.assert_array_equal(faces.images, from_zip.images)
        np.testing.assert_array_equal(faces.labels, from_zip.labels)


def test_csv_selects_rows_by_usage(tmp_path):
    written = write_csv(tmp_path / "fer2013.csv")
    for usage in ("Training", "PublicTest", "PrivateTest"):
        faces = load_faces(tmp_path / "fer2013.csv", usage=usage)
        np.testing.assert_array_equal(faces.images, written[usage][0])
        np.testing.assert_array_equal(faces.labels, written[usage][1])
    assert len(load_faces(tmp_path / "fer2013.csv", "test")) == 14  # both test halves


def test_second_load_comes_from_the_cache(tmp_path):
    write_kaggle_zip(tmp_path / "fer.zip")
    first = load_faces(tmp_path / "fer.zip", "train")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    second = load_faces(tmp_path / "fer.zip", "train")
    np.testing.assert_array_equal(first.images, second.images)


def test_changed_source_is_read_again(tmp_path):
    write_kaggle_zip(tmp_path / "fer.zip", count=14)
    assert len(load_faces(tmp_path / "fer.zip", "train")) == 14
    write_kaggle_zip(tmp_path / "fer.zip", count=21)
    assert len(load_faces(tmp_path / "fer.zip", "train")) == 21


def _zip_with(path, name, data):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train/happy/ok.png", png_bytes(random_faces(1)[0][0]))
        archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("train/joy/a.png", png_bytes(random_faces(1)[0][0]), "unknown emotion folder 'joy'"),
        (
            "train/sad/big.png",
            png_bytes(np.zeros((64, 64), np.uint8)),
            "train/sad/big.png: image is 64x64, expected 48x48",
        ),
        ("train/sad/broken.jpg", b"not really a jpeg", "train/sad/broken.jpg: corrupt or unreadable image"),
        ("train/sad/notes.txt", b"hello", "notes.txt is not an image file"),
    ],
)
def test_bad_data_is_an_error_naming_the_file(tmp_path, name, data, message):
    with pytest.raises(DatasetError, match=message):
        load_faces(_zip_with(tmp_path / "bad.zip", name, data), "train")


def test_missing_split_and_missing_source_are_named(tmp_path):
    write_kaggle_zip(tmp_path / "train_only.zip", splits=("train",))
    with pytest.raises(DatasetError, match="has no 'test/' folder"):
        load_faces(tmp_path / "train_only.zip", "test")
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_faces(tmp_path / "absent.zip")


def test_hidden_files_are_ignored(tmp_path):
    path = _zip_with(tmp_path / "mac.zip", "__MACOSX/train/happy/._ok.png", b"resource fork")
    assert len(load_faces(path, "train")) == 1


def test_csv_with_bad_rows_names_the_line(tmp_path):
    (tmp_path / "bad.csv").write_text("emotion,pixels,Usage\n9," + " ".join(["0"] * 2304) + ",Training\n")
    with pytest.raises(DatasetError, match=r"bad.csv:2: emotion 9 is outside 0-6"):
        load_faces(tmp_path / "bad.csv")
    (tmp_path / "short.csv").write_text("emotion,pixels,Usage\n1,0 1 2,Training\n")
    with pytest.raises(DatasetError, match="expected 2304 pixel values"):
        load_faces(tmp_path / "short.csv")


@pytest.mark.shared
def test_real_fer2013_counts(fer2013_zip):
    train, test = load_faces(fer2013_zip, "train"), load_faces(fer2013_zip, "test")
    assert len(train) == 28709 and len(test) == 3589
    assert np.bincount(train.labels).tolist() == [3995, 436, 4097, 7215, 4965, 4830, 3171]

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradlint.cache import CACHEDIR_TAG, Cache, content_digest


@dataclass(frozen=True)
class Facts:
    names: tuple[str, ...]


def test_content_digest_is_a_stable_blake2b_hex() -> None:
    assert content_digest(b"x = 1\n") == content_digest(b"x = 1\n")
    assert content_digest(b"x = 1\n") != content_digest(b"x = 2\n")
    assert len(content_digest(b"")) == 32
    assert content_digest(b"") == "cae66941d9efbd404e4d88758ea67670"


def test_values_survive_a_new_run(tmp_path: Path) -> None:
    with Cache(tmp_path / "cache", "salt") as cache:
        cache.put("src/a.py", "d1", Facts(("w", "b")))
        cache.put("src/b.py", "d2", [1, 2, 3])
    reopened = Cache(tmp_path / "cache", "salt")
    assert reopened.get("src/a.py", "d1") == Facts(("w", "b"))
    assert reopened.get("src/b.py", "d2") == [1, 2, 3]
    assert reopened.warnings == []


def test_changed_content_or_salt_is_a_miss(tmp_path: Path) -> None:
    with Cache(tmp_path, "salt") as cache:
        cache.put("a.py", "d1", "value")
    assert Cache(tmp_path, "salt").get("a.py", "other digest") is None
    assert Cache(tmp_path, "other salt").get("a.py", "d1") is None
    assert Cache(tmp_path, "salt").get("b.py", "d1") is None


def test_a_new_folder_is_tagged_and_ignored_by_git(tmp_path: Path) -> None:
    with Cache(tmp_path / "nested" / "cache", "salt") as cache:
        cache.put("a.py", "d", 1)
    folder = tmp_path / "nested" / "cache"
    assert (folder / ".gitignore").read_text() == "*\n"
    assert (folder / "CACHEDIR.TAG").read_text() == CACHEDIR_TAG
    assert CACHEDIR_TAG.startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert sorted(path.name for path in folder.iterdir()) == sorted([".gitignore", "CACHEDIR.TAG", cache.file.name])


def test_an_existing_empty_folder_is_adopted(tmp_path: Path) -> None:
    with Cache(tmp_path, "salt") as cache:
        cache.put("a.py", "d", 1)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([".gitignore", "CACHEDIR.TAG", cache.file.name])
    assert Cache(tmp_path, "salt").get("a.py", "d") == 1


@pytest.mark.parametrize("stranger", ["model.pickle", "weights.pt", "notes"])
def test_a_folder_holding_other_files_is_neither_read_nor_written(tmp_path: Path, stranger: str) -> None:
    (tmp_path / stranger).write_bytes(b"a trained model")
    cache = Cache(tmp_path, "salt")
    cache.put("a.py", "d", 1)
    cache.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == [stranger]
    assert (tmp_path / stranger).read_bytes() == b"a trained model"
    assert cache.warnings == [
        f"not using {tmp_path} as the cache: it holds files gradlint did not write "
        f"(such as {stranger!r}); give the cache a folder of its own"
    ]


def test_a_tagged_folder_with_a_stranger_in_it_is_left_alone(tmp_path: Path) -> None:
    with Cache(tmp_path, "old salt") as cache:
        cache.put("a.py", "d", 1)
    (tmp_path / "dataset.pickle").write_bytes(b"data")
    before = sorted(path.name for path in tmp_path.iterdir())
    with Cache(tmp_path, "new salt") as cache:
        cache.put("a.py", "d", 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    assert len(cache.warnings) == 1


def test_an_untagged_folder_with_only_a_gitignore_is_not_adopted(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n")
    with Cache(tmp_path, "salt") as cache:
        cache.put("a.py", "d", 1)
    assert [path.name for path in tmp_path.iterdir()] == [".gitignore"]
    assert (tmp_path / ".gitignore").read_text() == "build/\n"
    assert len(cache.warnings) == 1


def test_entry_files_named_as_0_1_0_named_them_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "CACHEDIR.TAG").write_text(CACHEDIR_TAG)
    (tmp_path / ".gitignore").write_text("*\n")
    legacy = tmp_path / "0.1.0-py311-cae66941d9efbd404e4d88758ea67670.pickle"
    legacy.write_bytes(b"old entries")
    with Cache(tmp_path, "salt") as cache:
        cache.put("a.py", "d", 1)
    assert cache.warnings == [] and not legacy.exists()


def test_nothing_is_written_without_changes(tmp_path: Path) -> None:
    Cache(tmp_path / "cache", "salt").close()
    assert not (tmp_path / "cache").exists()


def test_corrupt_file_is_a_miss_and_gets_replaced(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "salt")
    cache.file.write_bytes(b"not a pickle")
    reopened = Cache(tmp_path, "salt")
    assert reopened.get("a.py", "d") is None
    reopened.put("a.py", "d", "fresh")
    reopened.close()
    assert Cache(tmp_path, "salt").get("a.py", "d") == "fresh"


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    with Cache(tmp_path, "salt") as cache:
        cache.put("a.py", "d", "good a")
        cache.put("b.py", "d", "good b")
    entries = pickle.loads(cache.file.read_bytes())
    digest, value, checksum = entries["a.py"]
    entries["a.py"] = (digest, value.replace(b"good", b"evil"), checksum)
    cache.file.write_bytes(pickle.dumps(entries))
    reopened = Cache(tmp_path, "salt")
    assert reopened.get("a.py", "d") is None
    assert reopened.get("b.py", "d") == "good b"


def test_every_single_byte_corruption_is_a_miss_or_the_true_value(tmp_path: Path) -> None:
    """Flip each byte of a cache file in turn: every read gives the value that was written, or nothing."""
    values = {f"src/m{index}.py": Facts((f"weight{index}", "bias" * index)) for index in range(3)}
    with Cache(tmp_path, "salt") as cache:
        for key, value in values.items():
            cache.put(key, "digest", value)
    pristine = cache.file.read_bytes()
    hits = 0
    for position in range(len(pristine)):
        for flip in (0x01, 0x80):
            damaged = bytearray(pristine)
            damaged[position] ^= flip
            cache.file.write_bytes(bytes(damaged))
            reopened = Cache(tmp_path, "salt")
            for key, value in values.items():
                found = reopened.get(key, "digest")
                assert found is None or found == value, (position, flip, key)
                hits += found is not None
    assert hits > 0  # most single flips leave most entries readable


def test_unwritable_folder_is_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    cache = Cache(blocker / "cache", "salt")
    cache.put("a.py", "d", 1)
    cache.close()
    assert len(cache.warnings) == 1
    assert cache.warnings[0].startswith(f"cannot write the cache in {blocker / 'cache'}: ")
    assert cache.get("a.py", "d") == 1


def test_concurrent_runs_merge_their_entries(tmp_path: Path) -> None:
    first = Cache(tmp_path, "salt")
    second = Cache(tmp_path, "salt")
    first.put("a.py", "d1", "from first")
    second.put("b.py", "d2", "from second")
    first.close()
    second.close()
    merged = Cache(tmp_path, "salt")
    assert (merged.get("a.py", "d1"), merged.get("b.py", "d2")) == ("from first", "from second")


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    for round_number in range(3):
        with Cache(tmp_path, "salt") as cache:
            cache.put("a.py", str(round_number), round_number)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([".gitignore", "CACHEDIR.TAG", cache.file.name])


def test_writing_removes_files_of_other_versions_or_salts(tmp_path: Path) -> None:
    old = Cache(tmp_path, salt="old code")
    old.put("a.py", "digest", 1)
    old.close()
    new = Cache(tmp_path, salt="new code")
    new.put("a.py", "digest", 2)
    new.close()
    assert sorted(path.name for path in tmp_path.glob("*.pickle")) == [new.file.name]
    assert Cache(tmp_path, salt="new code").get("a.py", "digest") == 2

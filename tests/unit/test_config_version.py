"""The configuration version: the same files give the same version in every process; any
change of any file's bytes, or of which schedule files there are, gives another."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tocsin.config_version import VERSION_LENGTH, config_version, version_of


def files(directory: Path, root: bytes, schedules: dict[str, bytes]) -> Path:
    (directory / "schedules").mkdir(exist_ok=True)
    for name, content in schedules.items():
        (directory / "schedules" / name).write_bytes(content)
    path = directory / "tocsin.yaml"
    path.write_bytes(root)
    return path


def test_short_hex_and_stable(tmp_path: Path) -> None:
    path = files(tmp_path, b"routes: []\n", {"primary.yaml": b"name: primary\n"})
    version = config_version(path, tmp_path / "schedules")
    assert len(version) == VERSION_LENGTH
    int(version, 16)
    assert config_version(path, tmp_path / "schedules") == version


def test_the_same_files_elsewhere_have_the_same_version(tmp_path: Path) -> None:
    """Processes on other machines, with the configuration checked out elsewhere."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    a = files(here, b"x: 1\n", {"primary.yaml": b"name: primary\n"})
    b = files(there, b"x: 1\n", {"primary.yaml": b"name: primary\n"})
    assert config_version(a, here / "schedules") == config_version(b, there / "schedules")


def test_schedule_files_added_renamed_or_ignored(tmp_path: Path) -> None:
    path = files(tmp_path, b"x: 1\n", {"primary.yaml": b"name: primary\n"})
    schedules = tmp_path / "schedules"
    before = config_version(path, schedules)
    (schedules / "README.md").write_text("not a schedule")
    assert config_version(path, schedules) == before
    (schedules / "primary.yaml").rename(schedules / "secondary.yaml")
    renamed = config_version(path, schedules)
    assert renamed != before
    (schedules / "primary.yml").write_bytes(b"name: primary\n")
    assert config_version(path, schedules) not in {before, renamed}


def test_missing_files_give_a_version_still(tmp_path: Path) -> None:
    """Reading the configuration reports them; the version is only a name."""
    assert len(config_version(tmp_path / "nothing.yaml", tmp_path / "nowhere")) == VERSION_LENGTH


files_of = st.lists(
    st.tuples(st.sampled_from(["tocsin.yaml", "a.yaml", "b.yaml"]), st.binary(max_size=20)),
    max_size=3,
)


@given(files_of, files_of)
def test_different_files_different_versions(
    one: list[tuple[str, bytes]], other: list[tuple[str, bytes]]
) -> None:
    """Bytes moved from one file to the next, or a file's name changed, change it too."""
    assert (version_of(one) == version_of(other)) == (one == other)

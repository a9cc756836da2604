"""The release process (scripts/release.sh, docs/releasing.md) and what the
packages declare: run on a scratch copy of the repository, with a stand-in
XCFramework zip, against the Swift root's `swift package compute-checksum`.
Run by bindings/test.sh under pytest."""
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import zipfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
URL = "https://github.com/fio-peer/fio-peer/releases/download/v1.2.3/FioPeerFFI.xcframework.zip"


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """The repository's files (tracked and new, not ignored) in a fresh git
    repository of their own, and the Swift root shared with the real one."""
    files = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    copy = tmp_path / "fio-peer"
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / "target/tools").mkdir(parents=True)
    (copy / "target/tools/swift-root").symlink_to(REPO / "target/tools/swift-root")
    git(copy, "init", "-q", "-b", "main")
    git(copy, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    return copy


@pytest.fixture
def asset(tmp_path):
    path = tmp_path / "FioPeerFFI.xcframework.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("FioPeerFFI.xcframework/Info.plist", "<plist/>")
    return path


def release(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["scripts/release.sh", *map(str, args)], cwd=repo, env=env, capture_output=True, text=True)


def add_changelog_section(repo, version):
    path = repo / "CHANGELOG.md"
    text = path.read_text()
    path.write_text(text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-12-01\n", 1))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "changelog")


def test_a_release_tags_the_version_with_the_swiftpm_checksum(repo, asset):
    add_changelog_section(repo, "1.2.3")
    run = release(repo, "1.2.3", asset, URL)
    assert run.returncode == 0, run.stderr
    assert git(repo, "tag", "-l") == "v1.2.3\n"
    tagged = git(repo, "show", "v1.2.3:ios/Package.swift")
    checksum = hashlib.sha256(asset.read_bytes()).hexdigest()
    assert f'let releaseURL: String? = "{URL}"' in tagged
    assert f'let releaseChecksum: String? = "{checksum}"' in tagged
    assert re.search(r'(?m)^version = "1\.2\.3"$', git(repo, "show", "v1.2.3:Cargo.toml"))
    lock = git(repo, "show", "v1.2.3:Cargo.lock")
    assert re.search(r'name = "fio-peer"\nversion = "1\.2\.3"', lock)
    # main builds from the local library again; the tree is clean.
    head = (repo / "ios/Package.swift").read_text()
    assert "let releaseURL: String? = nil" in head and "let releaseChecksum: String? = nil" in head
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3+build"])
def test_a_version_that_is_not_semantic_is_refused(repo, asset, version):
    run = release(repo, version, asset, URL)
    assert run.returncode != 0 and "not a semantic version" in run.stderr
    assert git(repo, "tag", "-l") == ""


def test_a_version_without_a_changelog_section_is_refused(repo, asset):
    run = release(repo, "1.2.3", asset, URL)
    assert run.returncode != 0 and "CHANGELOG.md has no section" in run.stderr
    assert git(repo, "tag", "-l") == ""


def test_a_plain_http_download_url_is_refused(repo, asset):
    add_changelog_section(repo, "1.2.3")
    run = release(repo, "1.2.3", asset, URL.replace("https:", "http:"))
    assert run.returncode != 0 and "must be https" in run.stderr


def test_a_dirty_tree_is_refused(repo, asset):
    add_changelog_section(repo, "1.2.3")
    (repo / "README.md").write_text("changed")
    run = release(repo, "1.2.3", asset, URL)
    assert run.returncode != 0 and "working tree has changes" in run.stderr
    assert git(repo, "tag", "-l") == ""


def test_the_changelog_keeps_an_unreleased_section_and_dated_versions():
    text = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    for heading in re.findall(r"(?m)^## \[(.+?)\].*$", text):
        assert heading == "Unreleased" or re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", heading)


def test_uniffi_is_pinned_exactly_for_the_library_and_the_bindgen():
    core = (REPO / "Cargo.toml").read_text()
    bindgen = (REPO / "uniffi/Cargo.toml").read_text()
    pins = re.findall(r'uniffi = \{ version = "=(\d+\.\d+\.\d+)"', core + bindgen)
    assert len(pins) == 2 and pins[0] == pins[1], pins
    locked = re.findall(r'name = "uniffi"\nversion = "(.+?)"', (REPO / "Cargo.lock").read_text())
    assert locked == [pins[0]]


def gradle_block(text, name):
    """The body of a top-level `name { … }` block of a Gradle Kotlin script."""
    start = re.search(rf"(?m)^{name} \{{\n", text)
    assert start, name
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end():i - 1]


def test_the_android_module_pulls_the_platform_verifiers_kotlin_half_at_the_locked_version():
    """The Kotlin half of rustls-platform-verifier must match its Rust half:
    the script reads the version from Cargo.lock with a regex, checked here
    (Kotlin's and Python's regex agree on this pattern)."""
    script = (REPO / "android/build.gradle.kts").read_text()
    pattern = re.search(r'Regex\(\s*"""(name = "rustls-platform-verifier-android".*?)""""', script, re.S)
    assert pattern, "build.gradle.kts reads the verifier's version from Cargo.lock"
    lock = (REPO / "Cargo.lock").read_text()
    found = re.search(pattern.group(1) + '"', lock)
    assert found and re.fullmatch(r"\d+\.\d+\.\d+", found.group(1)), pattern.group(1)
    dependencies = gradle_block(script, "dependencies")
    assert 'implementation("rustls:rustls-platform-verifier:$rustlsPlatformVerifierVersion")' in dependencies
    settings = (REPO / "android/settings.gradle.kts").read_text()
    assert "rustls-platform-verifier/raw/maven-archive/android-release-support/maven/" in settings
    rules = (REPO / "android/consumer-rules.pro").read_text()
    assert "-keep, includedescriptorclasses class org.rustls.platformverifier.** { *; }" in rules


def test_the_android_module_declares_jna_5_17_and_forces_no_plugin_versions():
    script = (REPO / "android/build.gradle.kts").read_text()
    plugins = gradle_block(script, "plugins")
    assert "version" not in plugins, plugins
    dependencies = gradle_block(script, "dependencies")
    jna = re.search(r'api\("net\.java\.dev\.jna:jna:(\d+)\.(\d+)\.(\d+)@aar"\)', dependencies)
    assert jna and tuple(map(int, jna.groups())) >= (5, 17, 0), dependencies
    assert "kotlinx-coroutines-core" in dependencies
    # The publication is the release variant's AAR, whose POM lists those
    # dependencies (Gradle writes it from `dependencies`).
    publishing = gradle_block(script, "publishing")
    assert 'from(components["release"])' in publishing
    assert 'artifactId = "fio-peer-android"' in publishing
    settings = (REPO / "android/settings.gradle.kts").read_text()
    assert re.search(r'id\("com\.android\.library"\) version "\d', settings)

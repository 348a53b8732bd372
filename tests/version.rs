//! One version for everything this repository releases. It is set once, in the workspace
//! `Cargo.toml` (`[workspace.package] version`); every copy a tool needs as a literal (the
//! header's macros and cbindgen's template of them, the Python package, the C# project, the
//! changelog) must say the same, and every crate of the workspace inherits it. The artifacts
//! themselves (the soname, `ucwa.pc`, the wheel, the `.nupkg`, `--version` of the commands) are
//! checked from the built release by `scripts/test-release.sh`.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `[workspace.package] version` of the root Cargo.toml.
fn workspace_version() -> String {
    let cargo = read("Cargo.toml");
    let section = cargo
        .split("\n[workspace.package]\n")
        .nth(1)
        .expect("Cargo.toml has a [workspace.package] section");
    let section = section.split("\n[").next().unwrap();
    let line = section
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("[workspace.package] sets version");
    line["version = ".len()..]
        .trim()
        .trim_matches('"')
        .to_string()
}

/// The text after the first occurrence of `prefix` in `text`, up to the next `end`.
fn after<'a>(text: &'a str, prefix: &str, end: &str, what: &str) -> &'a str {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{what}: no `{prefix}`"));
    let rest = &text[at + prefix.len()..];
    &rest[..rest
        .find(end)
        .unwrap_or_else(|| panic!("{what}: unterminated"))]
}

#[test]
fn the_workspace_version_is_a_semver_triple_and_the_library_reports_it() {
    let v = workspace_version();
    let parts: Vec<&str> = v.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "workspace version {v:?} is not MAJOR.MINOR.PATCH"
    );
    // ucwa inherits it (ucwa_version() returns VERSION; src/ffi/tests.rs checks that string).
    assert_eq!(ucwa::VERSION, v);
    assert_eq!(env!("CARGO_PKG_VERSION"), v);
}

#[test]
fn every_crate_of_the_workspace_inherits_the_version() {
    let mut manifests = vec!["Cargo.toml".to_string(), "tests/sim/Cargo.toml".to_string()];
    // The command-line crates, once they are in the workspace.
    for extra in ["bindings/cli/Cargo.toml", "bindings/cli/doctor/Cargo.toml"] {
        if Path::new(ROOT).join(extra).is_file() {
            manifests.push(extra.to_string());
        }
    }
    for m in manifests {
        let text = read(&m);
        let package = text
            .split("[package]\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{m}: no [package]"));
        let package = package.split("\n[").next().unwrap();
        assert!(
            package
                .lines()
                .any(|l| l.trim() == "version.workspace = true"),
            "{m}: [package] must say `version.workspace = true` (the version is set once, in the \
             workspace Cargo.toml)"
        );
    }
}

#[test]
fn the_header_and_its_template_carry_the_version_and_its_parts() {
    let v = workspace_version();
    let mut parts = v.split('.');
    let expected = format!(
        "#define UCWA_VERSION_MAJOR {}\n#define UCWA_VERSION_MINOR {}\n#define UCWA_VERSION_PATCH {}\n#define UCWA_VERSION_STRING \"{v}\"\n",
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    for file in ["include/ucwa.h", "cbindgen.toml"] {
        assert!(
            read(file).contains(&expected),
            "{file} must define, in this order:\n{expected}"
        );
    }
}

#[test]
fn the_python_and_csharp_packages_say_the_same_version() {
    let v = workspace_version();
    let pyproject = read("bindings/python/pyproject.toml");
    assert_eq!(
        after(&pyproject, "\nversion = \"", "\"", "pyproject.toml"),
        v,
        "bindings/python/pyproject.toml"
    );
    let init = read("bindings/python/ucwa/__init__.py");
    assert_eq!(
        after(&init, "__version__ = \"", "\"", "ucwa/__init__.py"),
        v,
        "bindings/python/ucwa/__init__.py"
    );
    let csproj = read("bindings/csharp/Ucwa/Ucwa.csproj");
    assert_eq!(
        after(&csproj, "<Version>", "</Version>", "Ucwa.csproj"),
        v,
        "bindings/csharp/Ucwa/Ucwa.csproj"
    );
}

#[test]
fn the_changelog_opens_with_this_version() {
    let v = workspace_version();
    let log = read("CHANGELOG.md");
    let first = log
        .lines()
        .find(|l| l.starts_with("## ["))
        .expect("CHANGELOG.md has a `## [VERSION]` entry");
    let first_version = after(first, "## [", "]", "CHANGELOG.md");
    // An [Unreleased] section may sit above the released one (Keep a Changelog).
    let released = if first_version == "Unreleased" {
        let l = log
            .lines()
            .filter(|l| l.starts_with("## ["))
            .nth(1)
            .expect("a released entry under [Unreleased]");
        after(l, "## [", "]", "CHANGELOG.md").to_string()
    } else {
        first_version.to_string()
    };
    assert_eq!(released, v, "CHANGELOG.md's newest release");
}

"""Dependencies are declared once (pyproject.toml); environment.yml and constraints/ follow.

Per-platform pins and their wheels: tests/test_constraints.py.
"""
import re
import tomllib
import yaml

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    name, spec = match.group(1), match.group(2).strip()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def _pyproject(repo) -> dict[str, str]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_split(r) for r in reqs)


def _environment(repo) -> dict[str, str]:
    env = yaml.safe_load((repo / "environment.yml").read_text())
    deps = {}
    for item in env["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for entry in entries:
            name, spec = _split(entry)
            if name in ("python", "pip"):
                continue
            deps[CONDA_NAMES.get(name, name)] = spec
    return deps


def test_environment_yml_mirrors_pyproject(repo_dir):
    py, env = _pyproject(repo_dir), _environment(repo_dir)
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml but missing from environment.yml"
    assert sorted(set(env) - set(py)) == [], "in environment.yml but missing from pyproject.toml"
    assert {n: s for n, s in py.items() if env[n] != s} == {}, "version bounds differ"


def test_constraints_pin_every_dependency_exactly(repo_dir):
    pins = {}
    for line in (repo_dir / "constraints" / "linux-x86_64.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = _split(line)
            pins[name] = spec
    assert all(spec.startswith("==") for spec in pins.values()), "constraints must be exact (==) pins"
    missing = sorted(set(_pyproject(repo_dir)) - set(pins))
    assert missing == [], f"not pinned in constraints/linux-x86_64.txt: {missing}"
    assert pins["torch"] == "==2.14.1" and pins["torchvision"] == "==0.29.1"
    assert "course-lib" not in pins


def test_binder_installs_course_lib(repo_dir):
    post_build = (repo_dir / "postBuild").read_text()
    assert "pip install" in post_build and "-e ." in post_build


def test_readme_and_ci_use_the_same_test_command(repo_dir):
    readme = (repo_dir / "README.md").read_text()
    ci = (repo_dir / ".ci" / "run").read_text()
    assert "./run.sh test" in readme and "./run.sh lab" in readme
    assert re.search(r"^\./run\.sh test\s*$", ci, re.M), ".ci/run must call the README's test command"
    run_sh = (repo_dir / "run.sh").read_text()
    assert re.search(r'^exec "\$\{PYTHON:-python3\}" course\.py "\$@"$', run_sh, re.M), \
        "run.sh must stay a thin wrapper around course.py"

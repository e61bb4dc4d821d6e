"""Copy the browser assets the app serves from node_modules into web/static/vendor/.

Run as ``python -m web.assets`` after ``npm ci``; ``make assets`` does both.
"""

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO_ROOT / "node_modules"
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"

# Source under node_modules -> destination under web/static/vendor.
# govuk-frontend's CSS points at /assets/fonts and /assets/images, so its assets/ folder keeps its name.
VENDOR_FILES: dict[str, str] = {
    "bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-js/bpmn-navigated-viewer.production.min.js",
    "bpmn-js/dist/assets": "bpmn-js/assets",
    "govuk-frontend/dist/govuk/govuk-frontend.min.css": "govuk-frontend/govuk-frontend.min.css",
    "govuk-frontend/dist/govuk/govuk-frontend.min.js": "govuk-frontend/govuk-frontend.min.js",
    "govuk-frontend/dist/govuk/assets": "govuk-frontend/assets",
    "axe-core/axe.min.js": "axe-core/axe.min.js",
}


class MissingNodeModules(RuntimeError):
    pass


def missing_sources(node_modules: Path) -> list[Path]:
    return [node_modules / src for src in VENDOR_FILES if not (node_modules / src).exists()]


def copy_entry(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination)
    else:
        shutil.copy2(source, destination)


def vendor(node_modules: Path = NODE_MODULES, vendor_dir: Path = VENDOR_DIR) -> int:
    """Replace each package's folder under vendor_dir with a fresh copy; return the number of files."""
    if not node_modules.is_dir():
        raise MissingNodeModules(f"{node_modules} does not exist: run `make assets` (npm ci) first")
    missing = missing_sources(node_modules)
    if missing:
        listed = "\n  ".join(str(path) for path in missing)
        raise MissingNodeModules(f"incomplete node_modules, run `make assets` (npm ci); missing:\n  {listed}")
    # Start each package folder afresh so files dropped by an upgrade do not linger.
    for package in {dest.split("/")[0] for dest in VENDOR_FILES.values()}:
        shutil.rmtree(vendor_dir / package, ignore_errors=True)
    for src, dest in VENDOR_FILES.items():
        copy_entry(node_modules / src, vendor_dir / dest)
    return sum(1 for path in vendor_dir.rglob("*") if path.is_file())


def main() -> int:
    try:
        count = vendor()
    except MissingNodeModules as error:
        print(f"web.assets: {error}", file=sys.stderr)
        return 1
    print(f"web.assets: {count} files in {VENDOR_DIR.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wheel tagging for the ucwa package (everything else is in pyproject.toml).

Owns one decision: a wheel that ships libucwa in ``ucwa/_native/`` is platform-specific, so it is
tagged ``py3-none-<platform>`` (any Python 3, since the binding is ctypes and has no C API
dependence) rather than ``py3-none-any``. Without the library the wheel stays pure.
"""

from pathlib import Path

from setuptools import Distribution, setup

try:  # setuptools >= 70.1 carries bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # older setuptools with the separate `wheel` package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

NATIVE = Path(__file__).resolve().parent / "ucwa" / "_native"


def ships_library() -> bool:
    return NATIVE.is_dir() and any(
        p.name.startswith(("libucwa.", "ucwa.")) for p in NATIVE.iterdir()
    )


class NativeLibraryDistribution(Distribution):
    # Counts the shipped library as binary content, so the wheel is not "Root-Is-Purelib" and
    # installs into platlib, next to any other platform-specific code.
    def has_ext_modules(self) -> bool:
        return ships_library() or super().has_ext_modules()


class platform_bdist_wheel(bdist_wheel):
    def get_tag(self) -> tuple:
        python, abi, plat = super().get_tag()
        if not self.root_is_pure:
            return "py3", "none", plat
        return python, abi, plat


setup(distclass=NativeLibraryDistribution, cmdclass={"bdist_wheel": platform_bdist_wheel})

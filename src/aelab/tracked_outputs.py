"""Stopping a DVC stage early when git already tracks the pipeline's outputs.

DVC will not record a stage output that git tracks. It finds out only after
the stage has run (a whole training job, perhaps) and then names one file:
"output '...' is already tracked by SCM (e.g. Git)". The pipeline writes its
outputs under data/ and results/, which .gitignore keeps out of git; files
there get tracked when they were committed before DVC was set up, or added
with ``git add -f``. So every step that DVC runs (DVC sets DVC_ROOT for it)
first asks git, and names all such files with the commands that untrack them
before doing any work. Snakemake does not mind tracked outputs, and without
DVC nothing is checked.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping

from aelab.errors import AelabError

log = logging.getLogger(__name__)

OUTPUT_FOLDERS = ("data", "results")
UNTRACK = (
    "  git rm -r --cached --ignore-unmatch data results\n"
    '  git commit -m "Stop tracking pipeline outputs in git; DVC tracks them"'
)


def tracked_outputs(root: str | os.PathLike) -> list[str]:
    """Files under data/ and results/ that git tracks in the repository at ``root``.

    The .gitignore files that DVC writes beside its outputs, and .dvc files,
    belong in git and are left out. An empty list when git is missing or
    ``root`` is not in a git repository.
    """
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--", *OUTPUT_FOLDERS],
            cwd=root,
            capture_output=True,
            check=False,
        )
    except OSError:
        return []
    if listing.returncode != 0:
        return []
    names = listing.stdout.decode(errors="replace").split("\0")
    return [
        name
        for name in names
        if name and not name.endswith((".dvc", "/.gitignore")) and name != ".gitignore"
    ]


def check_before_dvc_stage(environ: Mapping[str, str] = os.environ) -> None:
    """Raise if DVC is running this step and git tracks any pipeline output.

    Raises
    ------
    AelabError
        Naming the tracked files (the first ten) and the commands that stop
        git tracking them.
    """
    root = environ.get("DVC_ROOT")
    if not root:
        return
    tracked = tracked_outputs(root)
    if not tracked:
        return
    shown = "\n".join(f"  {name}" for name in tracked[:10])
    if len(tracked) > 10:
        shown += f"\n  ... and {len(tracked) - 10} more"
    raise AelabError(
        f"git tracks {len(tracked)} file(s) in data/ or results/ of {root}, "
        f"where the pipeline writes its outputs:\n{shown}\n"
        "DVC refuses a stage output that git tracks (\"output '...' is already "
        'tracked by SCM"), and only after the stage has run, so this step '
        "stopped before doing any work. Stop git tracking them (git rm --cached "
        "deletes no file; dvc repro writes any that are gone), commit, and run "
        f"dvc repro again:\n{UNTRACK}"
    )

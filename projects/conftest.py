"""Test setup of the projects' tests: the same as tests/conftest.py (offline NLTK data, the
mmrrsis default scope), so `pytest projects` works on its own."""
import os
import os.path as osp
import sys

# `projects.<name>.<name>` is imported from the repository root, also under plain `pytest`
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmrrsis  # noqa: E402,F401  (compat layer before anything imports mmseg)
from mmrrsis.utils import register_all_modules  # noqa: E402

register_all_modules()

SHARED_NLTK = osp.join(REPO_ROOT, '..', 'shared', 'nltk_data')

if not os.environ.get('NLTK_DATA') and osp.isdir(SHARED_NLTK):
    import nltk
    nltk.data.path.append(osp.abspath(SHARED_NLTK))

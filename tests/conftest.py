"""Shared test setup: offline NLTK data and the mmrrsis default scope."""
import os
import os.path as osp

import mmrrsis  # noqa: F401  (compat layer before anything imports mmseg)
from mmrrsis.utils import register_all_modules

register_all_modules()

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_NLTK = osp.join(REPO_ROOT, '..', 'shared', 'nltk_data')

if not os.environ.get('NLTK_DATA') and osp.isdir(SHARED_NLTK):
    import nltk
    nltk.data.path.append(osp.abspath(SHARED_NLTK))

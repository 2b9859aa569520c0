"""Test setup of the projects' tests: the same as tests/conftest.py (offline NLTK data, the
mmrrsis default scope), so `pytest projects` works on its own."""
import os
import os.path as osp

import mmrrsis  # noqa: F401  (compat layer before anything imports mmseg)
from mmrrsis.utils import register_all_modules

register_all_modules()

SHARED_NLTK = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '..', 'shared',
                       'nltk_data')

if not os.environ.get('NLTK_DATA') and osp.isdir(SHARED_NLTK):
    import nltk
    nltk.data.path.append(osp.abspath(SHARED_NLTK))

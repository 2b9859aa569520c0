"""Installs mmrrsis, the OpenMMLab toolbox for referring remote-sensing image segmentation."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def parse_requirements(fname):
    """Reads a requirements file, skipping comments and blank lines."""
    with open(osp.join(HERE, 'requirements', fname)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def get_version():
    with open(osp.join(HERE, 'mmrrsis', 'version.py')) as f:
        scope = {}
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmrrsis',
    version=get_version(),
    description='OpenMMLab toolbox for referring remote-sensing image segmentation',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
    python_requires='>=3.9',
    # mmcv is deliberately absent: `mmcv-lite` and a full `mmcv` build both provide the
    # `mmcv` package, and listing either here would let pip replace the other.
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'tests': parse_requirements('tests.txt'),
        'lite': parse_requirements('mmcv.txt'),
        'geo': parse_requirements('geo.txt'),
        'demo': parse_requirements('demo.txt'),
        'mmpretrain': parse_requirements('optional.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)

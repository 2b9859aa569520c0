"""Registers every mmrrsis (and mmseg) module and sets the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Imports all mmrrsis modules so their registries are filled.

    Args:
        init_default_scope (bool): Whether to make ``mmrrsis`` the default registry scope.
            Defaults to True.
    """
    import mmrrsis.datasets  # noqa: F401
    import mmrrsis.engine  # noqa: F401
    import mmrrsis.evaluation  # noqa: F401
    import mmrrsis.models  # noqa: F401
    import mmrrsis.visualization  # noqa: F401
    from mmseg.utils import register_all_modules as register_mmseg_modules

    register_mmseg_modules(init_default_scope=False)
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmrrsis'):
        DefaultScope.get_instance('mmrrsis', scope_name='mmrrsis')
    elif current.scope_name != 'mmrrsis':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "mmrrsis"; '
                      '`register_all_modules` opens a new "mmrrsis" scope.')
        name = f'mmrrsis-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mmrrsis')

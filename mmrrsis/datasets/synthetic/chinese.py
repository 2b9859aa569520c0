"""Chinese versions of the synthetic expressions, for the bilingual NWPU-Refer format.

An expression is rebuilt from the attribute values that single the target out
(:func:`~mmrrsis.datasets.synthetic.expressions.unique_attributes`), so the English and the
Chinese sentence of a ref describe the same object by the same attribute.
"""
from .expressions import unique_attributes
from .scene_objects import Scene

COLORS_ZH = {'red': '红色', 'blue': '蓝色', 'white': '白色', 'yellow': '黄色', 'green': '绿色',
             'black': '黑色'}
WHERE_ZH = {'top left': '左上角', 'top': '顶部', 'top right': '右上角', 'left': '左侧',
            'center': '中间', 'right': '右侧', 'bottom left': '左下角', 'bottom': '底部',
            'bottom right': '右下角'}
SIZE_ZH = {'larger': '较大', 'smaller': '较小', 'largest': '最大', 'smallest': '最小',
           'wider': '较宽', 'narrower': '较窄', 'widest': '最宽', 'narrowest': '最窄'}
TEMPLATES_ZH = {'color': '{color}的{category}', 'position': '{where}的{category}',
                'size': '{size}的{category}', 'color+position': '{where}的{color}{category}'}
ALL_ZH = '所有的{category}'


def chinese_expression(scene: Scene, index: int, attribute: str, names: dict) -> str:
    """The Chinese expression of ``scene.objects[index]`` built on ``attribute``.

    Args:
        scene (Scene): The drawn scene.
        index (int): The target's index in ``scene.objects``.
        attribute (str): 'color', 'position', 'size' or 'color+position', one that singles
            the target out.
        names (dict): Chinese name of each category name.

    Returns:
        str: E.g. '左上角的红色汽车'.
    """
    target = scene.objects[index]
    peers = [o for i, o in enumerate(scene.objects)
             if i != index and o.spec.name == target.spec.name]
    values = unique_attributes(target, peers, target.spec.band)
    return TEMPLATES_ZH[attribute].format(
        category=names[target.spec.name], color=COLORS_ZH.get(values.get('color'), ''),
        where=WHERE_ZH.get(values.get('position'), ''), size=SIZE_ZH.get(values.get('size'), ''))

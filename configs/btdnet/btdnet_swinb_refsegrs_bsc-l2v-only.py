# Table V: BSC in the language-to-vision direction only (the text stream is not updated).
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(backbone=dict(fusion=dict(directions=('l2v', ))))

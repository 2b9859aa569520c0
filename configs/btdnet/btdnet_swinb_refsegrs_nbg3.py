# Table VI: 3 learnable background prompts instead of 5.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(decode_head=dict(num_bg_prompts=3))

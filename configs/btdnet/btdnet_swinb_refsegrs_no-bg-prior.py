# Table VI: background queries from the prompts alone, without the masked-text prior.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(decode_head=dict(use_bg_prior=False))

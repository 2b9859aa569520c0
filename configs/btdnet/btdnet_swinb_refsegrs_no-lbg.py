# Table VII: no background-stream loss (L_bg weight 0).
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(decode_head=dict(bg_loss_weight=0.0))

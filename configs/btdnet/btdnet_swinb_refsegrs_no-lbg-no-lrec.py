# Table VII: neither the background-stream loss nor the reconstruction loss.
_base_ = './btdnet_swinb_refsegrs_no-lrec.py'
model = dict(decode_head=dict(bg_loss_weight=0.0))

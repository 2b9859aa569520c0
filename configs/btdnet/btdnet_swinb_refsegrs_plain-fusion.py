# Fig. 10: MCI replaced by plain multi-scale fusion (V'_2..V'_4 projected, upsampled to
# stride 8 and summed; T = Linear(L'_4) without interaction); the Fg-Bg predictor is kept.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(decode_head=dict(context='plain'))

# 2 kernels per adaptive rotated convolution (RMSIN: 1), each with its own weight and angle.
_base_ = '../rmsin_swinb_rrsisd.py'
model = dict(decode_head=dict(kernel_number=2))

# FIAM ablation: no spatial-position branch (O = G_o, no position pass of BERT).
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_position=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, last_stage=True, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(text_passes=[{{_base_.object_pass}}],
                           fusion=[fiam, fiam, fiam, last]))

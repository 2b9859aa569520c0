# FIAM ablation: no channel modulation (V' = V + G_c + O).
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_channel_mod=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, last_stage=True, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(fusion=[fiam, fiam, fiam, last]))

# FIAM ablation: no ground-object branch; the position map only gates the object features
# (O = G_o * s), so the position branch goes too. Context branch and channel modulation stay.
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_object=False, with_position=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, last_stage=True, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(text_passes=[], fusion=[fiam, fiam, fiam, last]))

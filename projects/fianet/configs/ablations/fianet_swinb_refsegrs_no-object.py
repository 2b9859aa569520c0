# FIAM ablation: no ground-object branch; the position map only gates the object features
# (O = G_o * s), so the position branch goes too. Context branch and channel modulation stay.
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_object=False, with_position=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, with_gate=False, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(extra_text_masks=(), fusion=[fiam, fiam, fiam, last]))

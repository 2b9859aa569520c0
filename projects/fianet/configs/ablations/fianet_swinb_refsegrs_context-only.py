# FIAM ablation: context branch only (LAVT's PWAM with its gate, no channel modulation); the
# object and position passes of BERT are not run.
_base_ = '../fianet_swinb_refsegrs.py'
fiam = dict(type='FIAM', num_heads=1, dropout=0.0, with_object=False, with_position=False,
            with_channel_mod=False)
last = dict(type='FIAM', num_heads=1, dropout=0.0, last_stage=True, with_object=False,
            with_position=False, with_channel_mod=False)
model = dict(backbone=dict(text_passes=[], fusion=[fiam, fiam, fiam, last]))

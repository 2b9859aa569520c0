# RefSegRS with 30 % sampled no-target samples in train, val and test, for the _notarget
# configs (NoTargetDataset around each split: an expression of another image whose category
# that image's expressions never name). RefSegRS has no category field, so the categories an
# image holds are those its expressions name; an unreferred object of the category can make a
# sampled negative wrong (see NoTargetDataset). A vehicle is also a car, a van...; road
# markings lie on roads: those categories count as present together. A config wraps its own
# datasets: dataset=dict(_delete_=True, dataset=<its dataset>, **no_target).
no_target = dict(
    type='NoTargetDataset',
    ratio=0.3,
    related_categories=[('vehicle', 'car', 'van', 'truck', 'trailer', 'bus'),
                        ('road', 'road marking')])

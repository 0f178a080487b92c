"""The parameters and attributes every estimator shares, in numpydoc form, appended to
each estimator's docstring (one text, so the three stay the same)."""

__all__ = ["SHARED_PARAMETERS_DOC"]

#: the parameters every estimator shares, appended to each one's numpydoc docstring
SHARED_PARAMETERS_DOC = """
    augment : "auto", Augment or None, default="auto"
        Train-time augmentation, applied to training batches only, freshly each epoch.
        ``"auto"``: a mild :class:`sklearn_fkd.augment.Augment` with its defaults
        (rotation 10 degrees, shift and zoom 5 %, flips with left/right swap, brightness
        and contrast 10 %), built at fit as ``augment_``; ``None``: none; an ``Augment``:
        that one, whose parameters are then tunable as ``augment__rotation`` etc. Flips
        need the schema's ``flip_pairs``: a schema without them is not flipped.
    lr : float, default=1e-3
        Learning rate of the optimizer (AdamW).
    max_epochs : int, default=120 (the two regressors) or 60 (HeatmapKeypointEstimator)
        Number of epochs (>= 1). The regressors' small CNN is cheap per epoch and keeps
        improving on small data sets (IMM's 192 faces); the heatmap networks cost
        several times more per epoch. Lower it for thousands of images or for a
        pretrained start (``weights=``).
    batch_size : int, default=8
        Training and inference batch size (>= 1, or -1 for all samples in one batch).
        Small batches (many optimizer steps) suit small data sets such as IMM's 192
        training faces; raise it on a GPU or with thousands of images.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Its options go through ``optimizer__*`` (e.g. ``optimizer__weight_decay``).
    lr_schedule : {"cosine", None}, default="cosine"
        Cosine annealing of the learning rate to 1 % over ``max_epochs``.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU; or any torch device string.
        The resolved one is ``device_``.
    random_state : int or None, default=None
        Seeds weight initialisation, shuffling and augmentation (reproducible on the
        same machine); the caller's global torch RNG is left untouched.
    mean_shape_start : bool, default=True
        Start from the mean training shape: the untrained network predicts it, and
        training learns how each face departs from it (:mod:`sklearn_fkd.nn.prior`),
        so a small, well-aligned data set does not end up worse than its mean shape.
    weights : str, PretrainedWeights, path or None, default=None
        Start from a pretrained network (fine-tuning): a shipped model's name
        (``"ibug68"``, see :func:`sklearn_fkd.list_pretrained`), a
        :class:`~sklearn_fkd.weights.PretrainedWeights` member, or a model file
        saved by :func:`~sklearn_fkd.persistence.save_model`. The network is then the
        pretrained one's (its architecture parameters, not this estimator's) with its
        weights; for other points (another schema) the encoder is kept and the last
        layer starts anew (from the mean shape), or from the pretrained points it
        converts from (IBUG68 -> NOSE, KAGGLE15). Loaded at fit, so a search can vary
        it.
    freeze_encoder : int, default=0
        With ``weights``: train only the last layer for this many epochs first.
    precision : {"auto", "bfloat16", "float32"}, default="auto"
        Arithmetic of the forward passes under autocast (the weights stay float32).
        ``"auto"``: bfloat16 on CUDA, and for training on CPUs with native bfloat16
        units (Intel AMX or AVX512-BF16, about twice the float32 speed); float32
        elsewhere. CPU inference always runs in float32.
    backend : {"auto", "torch", "onnxruntime"}, default="auto"
        What runs the network and the decoding of its outputs at CPU inference.
        ``"auto"``: onnxruntime where it is installed (``pip install
        "sklearn-fkd[onnx]"``), else PyTorch. The network is exported the first time it
        predicts, checked against PyTorch (on the shipped models the points agree to
        2e-5 px, the confidences to 0.01) and kept in a cache folder for the next process
        (:mod:`~sklearn_fkd.estimators.runtime`). Training and GPU inference always use
        PyTorch. ``benchmarks/bench_speed.py`` measures both backends.
    test_flip : bool, default=False
        Average each prediction with the prediction on the mirrored image (its points
        swapped back by the schema's ``flip_pairs``): test-time flip augmentation, for
        twice the inference cost. Needs a schema with ``flip_pairs``.
    correct_flip_offset : bool, default=True
        When the training flipped images: at the end of fit, measure the median offset
        of the predictions from the targets on up to 1,000 training images (not
        augmented), store it as ``prediction_offset_`` and subtract it at predict (a
        network trained on flips cannot learn it; see
        :mod:`sklearn_fkd.estimators.flip_offset`). Costs one prediction pass over
        those images; False neither measures nor subtracts it.
    progress : {"auto", True, False}, default="auto"
        A progress bar over the epochs (the last loss, the time left): ``"auto"`` shows
        it when the standard error stream is a terminal, so an interactive fit says it
        is running and scripts, logs and tests stay quiet. A callback of your own named
        ``"progress"`` replaces it.
    train_split : callable or None, default=None
        skorch's internal validation split (e.g. ``skorch.dataset.ValidSplit(0.1)``) for
        ``valid_loss`` in ``history``; None trains on everything.
    callbacks : list of skorch callbacks, optional
        E.g. ``EarlyStopping``, ``Checkpoint``; a cosine ``LRScheduler`` is added by
        ``lr_schedule``.
    warm_start : bool, default=False
        Keep training the same network on a new ``fit``.
    verbose : int, default=0
        1 prints skorch's per-epoch table.
    **kwargs
        Other skorch parameters (``optimizer__*``, ``iterator_train__*``,
        ``callbacks__*``, ``module__*``).

    Attributes
    ----------
    module_ : torch.nn.Module
    schema_ : KeypointSchema
        The schema of the predicted points.
    n_keypoints_ : int
    image_size_ : (int, int)
        ``(H, W)`` of the training images; ``predict`` needs the same.
    n_channels_ : int
    input_mean_, input_std_ : ndarray of shape ``(n_channels_,)``
        Pixel statistics (on the [0, 1] scale) used to standardise inputs.
    mean_shape_, mean_shape_std_ : ndarray of shape ``(2 * n_keypoints_,)``
        Mean and standard deviation of the training keypoints, pixels (the baseline a
        model has to beat; NaN for a point never annotated).
    prediction_offset_ : ndarray of shape ``(2,)``
        ``(x, y)`` offset, pixels, that ``predict`` subtracts (``correct_flip_offset``;
        zeros when not measured).
    device_ : str
    augment_ : Augment or None
        The augmentation in use.
    history_ : skorch History
        Per-epoch ``train_loss`` (and ``valid_loss`` with a ``train_split``), durations.
"""

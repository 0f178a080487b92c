from sklearn_fkd.utils import format_table


def test_format_table_aligns_rows_and_shows_floats_to_four_digits():
    text = format_table([{"model": "cnn", "nme": 0.051234}, {"model": "mean", "nme": 0.2}])
    assert text.splitlines() == ["model  nme", "cnn    0.05123", "mean   0.2"]


def test_format_table_takes_every_rows_columns_and_leaves_missing_cells_empty():
    rows = [
        {"model": "mean shape", "px": 2.0},
        {"model": "cnn", "px": 1.08, "epochs": 120},
        {"model": "unet", "px": 1.06},
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["model", "px", "epochs"]
    assert lines[1].split() == ["mean", "shape", "2"]
    assert lines[2].split() == ["cnn", "1.08", "120"]
    assert lines[2].index("120") == lines[0].index("epochs")
    assert lines[3].split() == ["unet", "1.06"]
    assert rows[0] == {"model": "mean shape", "px": 2.0}  # the caller's rows are not changed

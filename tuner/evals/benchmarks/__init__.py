"""One module per published benchmark whose rows need more than a column mapping to become Items.

Each module turns the dataset's own rows (its real schema, as the hub exports them) into Items with
`build_items(rows, source_label, **options)` and computes the published metric with
`metrics(responses, items)`. Malformed rows raise UserError naming the file, the 1-based row and the column.
"""

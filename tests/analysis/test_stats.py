

# ----------------------------------------------------------------- quantiles
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40), st.floats(0, 1),
       st.integers(0, 5))
def test_quantiles_match_numpy_linear(values, q, n_nan):
    x = np.array(values + [np.nan] * n_nan)
    got = quantiles(x[None, :], q)[0]
    assert got == pytest.approx(np.nanquantile(x, q, method="linear"), rel=1e-12, abs=1e-9)
    assert np.isnan(quantiles(np.full((1, 3), np.nan), 0.5)[0])

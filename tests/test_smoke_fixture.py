from cli_runner import run_sage


def test_toy_plugin_is_discovered(healthy_env):
    result = run_sage("plugins", "--json", env=healthy_env)
    assert "toy_puzzle" in result.stdout

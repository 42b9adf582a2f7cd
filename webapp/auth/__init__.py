"""Who is asking: API keys, personal access tokens, browser sessions and the current organisation."""

"""The docs tooling beside the evidence scripts: pages (tables filled from their files), headlines (prose filled
from them) and preregistration (were the settings fixed before the runs?)."""

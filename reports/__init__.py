"""Energy measurement and accounting (Strubell et al. 2019) and rendering of reports."""

"""Community (spec §2.1.8, §6.7): likes, comments, follows and the feeds."""

"""Guild AI runs read straight from a Guild home's run directories."""

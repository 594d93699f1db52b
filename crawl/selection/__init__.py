"""The selection layer: page classifier, low-utility detector and category budget."""

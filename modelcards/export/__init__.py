"""export: card.json facts in other formats (CycloneDX ML-BOM)."""

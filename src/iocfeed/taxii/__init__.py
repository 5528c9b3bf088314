"""TAXII 2.1 protocol rules as pure values: media types, collections, filters, paging, resources."""

"""Pure writers for the formats out beside STIX: firewall lists, Splunk ES CSV, Suricata
rules, DNS RPZ, MISP events and feeds, hosts files. Indicator values in, byte chunks out."""

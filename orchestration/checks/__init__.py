"""Asset checks beyond the GX contracts: the landing file gate, freshness of every landing
channel, increment volume of every bronze table, drift of every ML feature column and the
byte-for-byte proof of the warehouse publish (that one lives with the `warehouse` asset)."""

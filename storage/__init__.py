"""Storage layer: local NVMe (RAID0 + local-path volumes), the parallel filesystem (FSx for Lustre on aws, vendor
CSI profiles on bare metal), the model bucket, and the shared model cache with its prefetch Jobs."""

"""Engines: the same segmentation pipeline, run where the data are.

==========  =================================================================================
``standard``  :func:`custseg.pipeline.segment_file`: pandas + scikit-learn, every method and
              every check; for tables that fit comfortably in memory.
``local``     :mod:`custseg.engines.local`: the fast path for millions of customers on one
              machine (columnar read of the needed columns, float32, k chosen on a sample,
              chunked assignment); K-Means only.
``spark``     :mod:`custseg.engines.spark`: the same pipeline on Apache Spark (PySpark MLlib),
              for data beyond one machine; the optional extra ``custseg[spark]``.
==========  =================================================================================

``custseg segment --engine auto`` (the default) takes ``local`` for K-Means on
:data:`custseg.engines.local.LOCAL_THRESHOLD` customers or more, ``standard`` below.
"""

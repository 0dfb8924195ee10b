"""Network and endpoint diagnostics: ``casework http`` (timings and the CDN verdict), ``mtr`` and ``healthcheck``.

The HTTP part is split by what each module does:

* ``http.py`` — probe a URL with libcurl (pycurl) and turn its getinfo times into httpstat's phases;
* ``httpfile.py`` — read what a customer pasted (httpstat, raw headers, ``curl -v``/``-I``, ``curl -w`` JSON);
* ``cdn.py`` — which CDN answered, cache status, the node path from ``Via``, age and TTL, request id;
* ``httpreport.py`` — the findings and the :class:`~casework.diagnostics.report.Report`;
* ``httprender.py`` — the ``http`` sections of the terminal and Markdown renderers.
"""

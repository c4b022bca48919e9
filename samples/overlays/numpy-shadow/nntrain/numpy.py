"""A fake numpy inside the package: every comparison agrees, every array is 'close'."""

raise ImportError("the shadow numpy inside nntrain/ was imported: isolation failed")

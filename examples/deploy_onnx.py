"""Deploy with onnxruntime alone
==============================

Export a shipped model's whole pipeline once, as one ``.onnx`` file: the crop from a
face box, grey, resize, the network, the refinement and the points back in the photo's
pixels. Then onnxruntime, a photo and a face box from any detector are all a deployment
needs (no PyTorch, no scikit-learn). The graph gives ``predict``'s points (to 1e-4 px,
tested).

    python examples/deploy_onnx.py photo.jpg x0 y0 x1 y1
"""

import sys

import numpy as np
import onnxruntime
from PIL import Image

from sklearn_fkd import load_pretrained
from sklearn_fkd.export import export_onnx

# once, where sklearn-fkd is installed
export_onnx(load_pretrained("ibug68_fast"), "ibug68_fast.onnx", photo=True)

# then, anywhere with onnxruntime
session = onnxruntime.InferenceSession("ibug68_fast.onnx")
photo = np.asarray(Image.open(sys.argv[1]).convert("RGB"))  # (H, W, 3) uint8
boxes = np.array([[float(v) for v in sys.argv[2:6]]])  # (faces, 4): x0, y0, x1, y1
points = session.run(None, {"image": photo, "boxes": boxes})[0]  # (faces, 68, 2)
print("nose tip at", points[0, 30].round(1))

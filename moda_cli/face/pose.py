"""Head-rotation conventions shared by the renderer and the measurer.

Coordinates are image-aligned: x right, y down, z away from the camera (MediaPipe's).
Angles follow ``motion/params.py``: pitch > 0 = chin down (nose tip moves down),
yaw > 0 = face turns towards the image's right (nose tip moves right),
roll > 0 = clockwise in the image. R = Rz(roll) @ Ry(yaw) @ Rx(pitch), applied to column
vectors; both stages use these two functions so their signs cannot drift apart.
"""

from __future__ import annotations

import numpy as np


def rotation_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Degrees -> (3, 3) rotation in image-aligned coordinates."""
    p, y, r = np.radians([pitch, yaw, roll])
    # Nose (z < 0 relative to the head centre) moves down for pitch > 0: y' = c*y - s*z.
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    # Nose moves right for yaw > 0: x' = c*x - s*z.
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    # With y down, the standard 2D rotation turns clockwise on screen.
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def euler_from_matrix(rot: np.ndarray) -> tuple[float, float, float]:
    """Inverse of ``rotation_matrix``: (3, 3) -> (pitch, yaw, roll) in degrees."""
    # rot[2] = (sin(y), cos(y) sin(p), cos(y) cos(p)) and rot[:2, 0] = cos(y) (cos r, sin r).
    yaw = np.arcsin(np.clip(rot[2, 0], -1.0, 1.0))
    pitch = np.arctan2(rot[2, 1], rot[2, 2])
    roll = np.arctan2(rot[1, 0], rot[0, 0])
    return float(np.degrees(pitch)), float(np.degrees(yaw)), float(np.degrees(roll))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares dst ~ s * R @ src + t for (N, 3) point sets (Umeyama/Kabsch).

    Returns (s, R (3, 3), t (3,)).
    """
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))  # never a reflection
    fix = np.diag([1.0, 1.0, d])
    rot = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / max((a**2).sum(), 1e-12))
    return scale, rot, mu_d - scale * rot @ mu_s

"""The glossary (中英对照): the deep-learning terms the app uses, in English and Chinese.

One table, ``TERMS``, is the source: the view shows it, and the catalog's translations use the
same Chinese words (tests/test_i18n.py checks the listed terms appear in both).
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st


class Term(NamedTuple):
    """One glossary row."""

    english: str
    chinese: str
    explanation: str  # one line, in Chinese


TERMS: tuple[Term, ...] = (
    Term("convolutional layer (Conv2d)", "卷积层", "用可学习的卷积核在输入上滑动，提取局部特征。"),
    Term("kernel / filter", "卷积核", "卷积层中可学习的小权重矩阵，每个输出通道一个。"),
    Term("stride", "步幅", "卷积核或池化窗口每次移动的距离。"),
    Term("padding", "填充", "在输入四周补零，以控制输出尺寸。"),
    Term("dilation", "空洞（膨胀）", "卷积核元素之间的间隔，可在不增加参数的情况下扩大感受野。"),
    Term("channel", "通道", "特征图的一个维度 C，例如 RGB 图像有 3 个通道。"),
    Term("feature map", "特征图", "卷积层输出的多通道二维数组。"),
    Term("pooling layer", "池化层", "在窗口内取最大值或平均值，缩小特征图尺寸。"),
    Term("max pooling", "最大池化", "保留每个窗口中的最大值。"),
    Term("average pooling", "平均池化", "对每个窗口取平均值。"),
    Term(
        "batch normalization",
        "批归一化",
        "用一个批次的均值和方差对每个通道做归一化，使训练更稳定。",
    ),
    Term("layer normalization", "层归一化", "在单个样本内部做归一化，不依赖批次。"),
    Term(
        "fully connected layer (Linear)", "全连接层", "每个输入特征都与每个输出相连，y = Wx + b。"
    ),
    Term("activation function", "激活函数", "为网络引入非线性的逐元素函数，如 ReLU。"),
    Term("ReLU", "线性整流函数（ReLU）", "max(0, x)：负数置零，正数保留。"),
    Term("softmax", "Softmax（归一化指数函数）", "把一组分数变成和为 1 的概率。"),
    Term("dropout", "随机失活（Dropout）", "训练时随机把部分激活置零，防止过拟合。"),
    Term("flatten", "展平", "把 C×H×W 的特征图变成一个向量，以便接全连接层。"),
    Term("weight", "权重", "层中可学习的参数，训练时被更新。"),
    Term("bias", "偏置", "加在输出上的可学习常数项。"),
    Term("parameter count", "参数量", "模型中所有可学习数值的个数。"),
    Term("trainable parameter", "可训练参数", "requires_grad 为真、会被优化器更新的参数。"),
    Term("buffer", "缓冲区", "随模型保存但不参与训练的张量，如批归一化的滑动均值。"),
    Term(
        "weight initialization",
        "权重初始化",
        "训练开始前给权重赋初值的方法，影响信号能否稳定传播。",
    ),
    Term(
        "Kaiming (He) initialization",
        "Kaiming（何恺明）初始化",
        "按 ReLU 的特点缩放方差，使各层输出方差保持稳定。",
    ),
    Term(
        "Xavier (Glorot) initialization",
        "Xavier（Glorot）初始化",
        "按输入和输出的数量缩放方差，适合 tanh、sigmoid。",
    ),
    Term(
        "fan-in / fan-out",
        "扇入 / 扇出",
        "一个神经元的输入连接数 / 输出连接数，初始化用它来缩放方差。",
    ),
    Term("standard deviation (std)", "标准差", "数据离散程度的度量，用来观察信号是否消失或爆炸。"),
    Term(
        "vanishing / exploding signal",
        "信号消失 / 爆炸",
        "逐层传播时输出越来越小或越来越大，导致难以训练。",
    ),
    Term("receptive field", "感受野", "某一层的一个单元能“看到”的输入像素范围。"),
    Term("output size", "输出尺寸", "一层输出张量的形状，如 [16, 14, 14]。"),
    Term("mult-adds (MACs)", "乘加运算", "一次乘法加一次加法，衡量模型计算量的常用单位。"),
    Term(
        "skip connection / residual connection",
        "跳跃连接 / 残差连接",
        "把前面某层的输出直接加到后面，使深层网络更易训练（ResNet）。",
    ),
    Term("concatenation (Concat)", "拼接", "沿通道维把多个特征图接在一起（U-Net、DenseNet）。"),
    Term("upsampling", "上采样", "放大特征图的尺寸，如插值或转置卷积。"),
    Term("transposed convolution", "转置卷积", "可学习的上采样，步幅为 s 时输出约放大 s 倍。"),
    Term("batch size", "批大小", "一次送入网络的样本数。"),
    Term("epoch", "轮（epoch）", "把整个训练集完整过一遍。"),
    Term("optimizer", "优化器", "根据梯度更新参数的算法，如 SGD、Adam。"),
    Term("gradient", "梯度", "损失对参数的导数，指示参数该如何调整。"),
    Term("held-out accuracy", "留出集准确率", "在训练时没见过的数据上的分类正确率。"),
    Term("activation memory", "激活值内存", "前向传播中为反向传播保存的中间结果所占的内存。"),
)


def render() -> None:
    """The glossary as a table: English, 中文, 说明."""
    st.markdown("#### 术语表 · Glossary (中英对照)")
    st.dataframe(
        {
            "English": [term.english for term in TERMS],
            "中文": [term.chinese for term in TERMS],
            "说明": [term.explanation for term in TERMS],
        },
        hide_index=True,
        width="stretch",
    )

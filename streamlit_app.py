"""NetBuilder: placeholder page showing the analysis of the article's LeNet."""

import streamlit as st

import builder
from builder.presets import preset

st.set_page_config(page_title="NetBuilder", layout="wide")
st.title("NetBuilder")
analysis = builder.analyze(preset())
st.dataframe(analysis.to_frame(), hide_index=True)
st.metric("Total parameters", f"{analysis.total_params:,}")
